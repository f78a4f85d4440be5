"""After training: the model registry's commands and batch scoring."""
