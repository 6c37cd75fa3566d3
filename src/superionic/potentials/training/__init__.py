"""Distil fast LAMMPS potentials (SNAP) from a teacher ASE calculator or from labelled DFT data."""
