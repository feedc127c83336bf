"""The generator contract between the motion models and the add-on (see docs: generator API).

    gen = load_generator("diffusion", device="auto")
    clips = gen.generate("walk", "exhausted", seconds=8, count=4, seed=0)
    filled = gen.inbetween(clip, 20, 50)

`generator.py` holds the generators, `cli.py` the `generate` and `inbetween` subcommands of `python -m core`.
"""

from .generator import Cancelled, DiffusionGenerator, Generator, LatentGenerator, load_generator

__all__ = ["Cancelled", "DiffusionGenerator", "Generator", "LatentGenerator", "load_generator"]
