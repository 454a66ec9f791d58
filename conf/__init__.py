"""Hydra's config tree, shipped as the package mnistcli.conf so it is found from any working directory.

Importing it (Hydra does, to find the files) registers the resolvers the configs use (mnistcli/config/resolvers.py),
so the tree composes the same through `mnistcli train`, Hydra's compose API or a test.
"""

from mnistcli.config.resolvers import register

register()
