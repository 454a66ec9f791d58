"""mnistcli's Slurm launcher as a Hydra plugin (Hydra instantiates launchers from the hydra_plugins package only)."""
