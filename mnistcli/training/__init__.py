"""The training layer: the Hydra entry point, one train(cfg, run_dir), compile and fit, checkpoints, resume, interrupts."""
