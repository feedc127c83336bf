"""Inference without PyTorch: shipped weights read with numpy and the networks' forward passes in numpy,
so that the add-on works in a stock Blender (which ships numpy, not torch). Training stays in torch;
`tests/test_runtime.py` holds every numpy forward pass to its torch original on the shipped weights."""
