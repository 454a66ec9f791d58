"""The data layer: IDX files, where the data is found, the dataset a run trains on, and the training input pipeline."""
