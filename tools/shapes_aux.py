"""The training-only auxiliary targets of tools/train_shapes.py (--aux-weight): dense
per-patch and per-scene labels from each scene's objects, and the heads (AuxScene, never
exported) that learn them from the vision tower's output."""

import numpy as np
import torch
import torch.nn as nn


def scene_targets(objects, patch_size=8, image_size=64, min_pixels=4, chunk=1024):
    """Training targets from the scenes' objects (the dataset's `objects`, I64 [N, 4, 5]:
    colour, shape, centre x, centre y, radius in 1/8 px; -1 rows absent), with the
    generator's geometry (samples/shapes/scene.cpp: inside(), on the 1/8 px grid):
    - patches U8 [N, Np, 12]: 1 where (colour, shape) pair colour*3+shape covers at least
      min_pixels pixel centres of the patch (row-major patches, as patch_embed makes them);
    - scene U8 [N, 15]: pair present (12), then "exactly two of shape s" (3)."""
    objects = objects.numpy()
    N = objects.shape[0]
    g = image_size // patch_size
    centres = np.arange(image_size) * 8 + 4  # pixel centres on the 1/8 px grid
    px = centres[None, None, None, :]
    py = centres[None, None, :, None]
    patches = np.zeros((N, g * g, 12), np.uint8)
    for lo in range(0, N, chunk):
        ob = objects[lo:lo + chunk]
        col, shp = ob[..., 0], ob[..., 1]
        cx, cy, r = (ob[..., k][..., None, None] for k in (2, 3, 4))
        dx, dy = px - cx, py - cy  # [n, 4, H, W]
        circle = dx * dx + dy * dy <= r * r
        square = (np.abs(dx) <= r) & (np.abs(dy) <= r)
        triangle = (dy >= -r) & (dy <= r) & (2 * np.abs(dx) <= dy + r)
        inside = np.where((shp == 0)[..., None, None], circle,
                          np.where((shp == 1)[..., None, None], square, triangle))
        inside &= (col >= 0)[..., None, None]
        n = ob.shape[0]
        cover = inside.reshape(n, 4, g, patch_size, g, patch_size).sum((3, 5))
        cover = cover.reshape(n, 4, g * g) >= min_pixels  # [n, 4, Np]
        pair = np.where(col >= 0, col * 3 + shp, 0)
        for k in range(4):
            rows = np.nonzero(col[:, k] >= 0)[0]
            patches[lo + rows, :, pair[rows, k]] |= cover[rows, k].astype(np.uint8)
    scene = np.zeros((N, 15), np.uint8)
    present = objects[..., 0] >= 0
    for k in range(4):
        rows = np.nonzero(present[:, k])[0]
        scene[rows, objects[rows, k, 0] * 3 + objects[rows, k, 1]] = 1
    for sh in range(3):
        scene[:, 12 + sh] = ((objects[..., 1] == sh) & present).sum(1) == 2
    return torch.from_numpy(patches), torch.from_numpy(scene)


class AuxScene(nn.Module):
    """Training-only heads (not exported; the model's forward is untouched) on the vision
    tower's output v (after vision.norm, captured by a hook): each patch token predicts
    which (colour, shape) pairs cover it, the class token which pairs the scene holds and
    which shapes it holds exactly two of. The questions' loss reaches a patch only through
    attention still spread over 65 mostly-background tokens; these dense targets give the
    vision tower 64 labelled tokens a scene, so it learns shape features far sooner."""

    def __init__(self, model):
        super().__init__()
        E = model.cfg["d_model"]
        self.patch = nn.Linear(E, 12)
        self.scene = nn.Linear(E, 15)
        self.seen = {}
        self.handle = model.vision.norm.register_forward_hook(
            lambda m, i, o: self.seen.update(v=o))

    def remove(self):
        self.handle.remove()

    def forward(self):
        v = self.seen.pop("v")
        return self.patch(v[:, 1:]), self.scene(v[:, 0])
