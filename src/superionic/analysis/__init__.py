"""Pure analysis functions: arrays or Trajectory in, labelled xarray Datasets out."""
