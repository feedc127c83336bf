"""Generative motion models: the diffusion denoiser and sampler, post-processing, weight files."""
