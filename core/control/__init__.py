"""Interactive character control: an autoregressive conditional VAE (after Motion VAE, Ling et al. 2020)
that generates the next frame from the last one, a desired root trajectory for the next second, a style
and optionally an action; the runtime controller, path following and a scripted puppeteer session."""
