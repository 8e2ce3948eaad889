#pragma once
#include <CLI/CLI.hpp>

// Each subcommand registers its options and its action on the app.
void add_devices_command(CLI::App& app);
void add_bench_command(CLI::App& app);
void add_run_command(CLI::App& app);  // run and info
void add_tokenize_command(CLI::App& app);
void add_retrieval_commands(CLI::App& app);  // index and search
void add_check_command(CLI::App& app);
