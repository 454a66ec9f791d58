"""Loggers (conf/logger/): where a run's numbers go besides metrics.json - history.csv, TensorBoard, MLflow."""
