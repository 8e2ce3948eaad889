"""Captions of shapes scenes (samples/shapes/README.md), for the shapes CLIP
(tools/train_shapes_clip.py) and its evaluation: from a scene's objects, the words a person
would use, and which captions a scene fits.

Objects are rows (colour, shape, centre x, centre y, radius), the centre and radius in 1/8 px
of the 64x64 scene (the dataset files' `objects`; rows with colour -1 are absent). A scene holds
each (colour, shape) pair at most once.

The full caption names every object: one ("a red circle"), two in their left-to-right order
("a red circle left of a blue square") when their centres are at least 4 px apart in x (the
generator's rule for "left of"), else in the fixed order ("a red circle and a blue square"),
three or four in the fixed order (colour, then shape: "a red circle, a blue square and a
yellow triangle"). Shorter captions name part of a scene
("a green shape", "a blue triangle", "two circles").
"""

COLORS = ("red", "green", "blue", "yellow")
SHAPES = ("circle", "square", "triangle")
PLURALS = ("circles", "squares", "triangles")
WORDS = ("a", "left", "of", "and", "two", "shape") + COLORS + SHAPES + PLURALS
LEFT_OF_MIN_DX8 = 32  # 4 px in 1/8 px: closer centres are neither left nor right of each other


def present(objects):
    """[(colour, shape, cx8), ...] of the rows that are objects."""
    return [(int(o[0]), int(o[1]), int(o[2])) for o in objects if int(o[0]) >= 0]


def name(color, shape):
    return "a %s %s" % (COLORS[color], SHAPES[shape])


def full_caption(objects):
    obs = present(objects)
    if len(obs) == 1:
        return name(obs[0][0], obs[0][1])
    if len(obs) == 2 and abs(obs[0][2] - obs[1][2]) >= LEFT_OF_MIN_DX8:
        a, b = sorted(obs, key=lambda o: o[2])
        return "%s left of %s" % (name(a[0], a[1]), name(b[0], b[1]))
    if len(obs) == 2:
        a, b = sorted(obs)
        return "%s and %s" % (name(a[0], a[1]), name(b[0], b[1]))
    names = [name(c, s) for c, s, _ in sorted(obs)]
    return ", ".join(names[:-1]) + " and " + names[-1]


def partial_captions(objects):
    """Captions that name part of the scene: each object, each colour, a shape held exactly
    twice."""
    obs = present(objects)
    out = [name(c, s) for c, s, _ in obs]
    out += ["a %s shape" % COLORS[c] for c in sorted({c for c, _, _ in obs})]
    for s in range(3):
        if sum(1 for _, sh, _ in obs if sh == s) == 2:
            out.append("two " + PLURALS[s])
    return out


def zero_shot_classes():
    """The twelve single-object captions: the classes of zero-shot classification."""
    return [name(c, s) for c in range(4) for s in range(3)]
