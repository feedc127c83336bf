"""GenAnim core: motion data, generative models and evaluation. Pure Python (numpy, torch); never imports bpy."""

__version__ = "0.1.0"
