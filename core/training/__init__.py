"""Training of the generative models: config, batches, loop with checkpoints, resume and DDP."""
