"""Hydra's config tree, shipped as the package mnistcli.conf so it is found from any working directory."""
