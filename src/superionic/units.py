"""Physical constants and unit strings, in one place.

Internally `superionic` uses ASE units: Å, eV, amu, fs (velocities Å/fs).
Stored data carries the unit strings below (H5MD/UDUNITS-like spelling).
"""

from __future__ import annotations

import ase.units as _u

# --- constants -------------------------------------------------------------
KB_EV = _u.kB  # Boltzmann constant, eV/K
HBAR_MEV_PS = 0.6582119569  # ħ in meV·ps
THZ_TO_MEV = 4.135667696  # h·(1 THz) in meV
AMU_A2_FS2_TO_EV = 1.0 / (_u.fs**2 / _u._amu * _u._amu)  # placeholder, see below
E_CHARGE_C = 1.602176634e-19  # elementary charge, C
KB_J = 1.380649e-23  # J/K
AMU_KG = 1.66053906660e-27  # kg
AVOGADRO = 6.02214076e23  # 1/mol (exact)
R_J_PER_MOL_K = 8.314462618  # gas constant N_A k_B, J/(K mol)

#: 1 eV per particle in kJ/mol
EV_TO_KJ_PER_MOL = E_CHARGE_C * AVOGADRO / 1e3

#: kinetic energy of 1 amu moving at 1 Å/fs, in eV: (1e-10 m / 1e-15 s)^2 * amu / e
AMU_A2_PER_FS2_IN_EV = AMU_KG * 1e10 / E_CHARGE_C  # = 103.6427 eV

#: diffusion coefficient conversion: 1 Å²/fs = 0.1 cm²/s
A2_PER_FS_TO_CM2_PER_S = 1e-16 / 1e-15

# --- unit strings written to files -------------------------------------------
LENGTH = "angstrom"
TIME = "fs"
VELOCITY = "angstrom fs-1"
MASS = "amu"
ENERGY = "eV"
TEMPERATURE = "K"
FREQUENCY = "THz"
ENERGY_MEV = "meV"
DIFFUSION = "cm2 s-1"
CONDUCTIVITY = "mS cm-1"
DIMENSIONLESS = "1"

del AMU_A2_FS2_TO_EV
