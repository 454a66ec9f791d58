"""The config layer: the schema of every key, its checks with one-line errors, Hydra's config groups and resolvers."""
