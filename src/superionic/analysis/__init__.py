"""Pure analysis functions: a Trajectory (or, for the `*_from_file` ones, an H5MD path or open source) in,
labelled xarray Datasets with units out. The names below are the public API.

The functions that share their module's name (`diffusion`, `vdos`, `hopping`, `conductivity`, `arrhenius`,
`lowfreq`, `thermo`, `vdos_series`, and bottleneck's `windows`) are imported from their module
(`from superionic.analysis.diffusion import diffusion`): here that name is the module.
"""

from .arrhenius import arrhenius_from_datasets
from .bottleneck import window_geometry
from .bottleneck_stats import bottleneck_summary, breathing_spectrum, hop_statistics, window_crossings
from .correlate import autocorrelation, cosine_transform
from .currents import current_correlations, dispersion, fit_dho
from .diffusion import (
    diffusion_from_file,
    fit_msd,
    green_kubo,
    green_kubo_from_file,
    mobile_position_sums,
    mobile_positions,
    msd,
    msd_from_file,
    non_gaussian,
    van_hove_self,
)
from .finite_size import lowest_phonon, lowest_phonon_from_file, needed_cell_length
from .hopping import argyrodite_sites, sites_from_density, sites_from_structure
from .lowfreq import analyse_lowfreq, classify, law_verdict, zero_frequency_verdict
from .qens import fit_gamma_model, fit_gamma_models, fit_qens, fit_qens_dataset, linewidth_summary
from .rotations import anion_units, orientations, rotation_hop_correlation, rotation_summary, rotational_acf
from .scattering import (
    coherent_intermediate_scattering,
    dynamic_structure_factor,
    neutron_weights,
    self_intermediate_scattering,
    self_intermediate_scattering_from_file,
)
from .subdiffusion import late_slope_bound
from .thermo import heat_capacity, two_phase, vibrational_entropy
from .vdos import diffusion_from_g0, vacf, vdos_from_chunks, vdos_from_file, vdos_summary
from .vdos_series import crossover_temperature

__all__ = [
    "analyse_lowfreq",
    "anion_units",
    "argyrodite_sites",
    "arrhenius_from_datasets",
    "autocorrelation",
    "bottleneck_summary",
    "breathing_spectrum",
    "classify",
    "coherent_intermediate_scattering",
    "cosine_transform",
    "crossover_temperature",
    "current_correlations",
    "diffusion_from_file",
    "diffusion_from_g0",
    "dispersion",
    "dynamic_structure_factor",
    "fit_dho",
    "fit_gamma_model",
    "fit_gamma_models",
    "fit_msd",
    "fit_qens",
    "fit_qens_dataset",
    "green_kubo",
    "green_kubo_from_file",
    "heat_capacity",
    "hop_statistics",
    "late_slope_bound",
    "law_verdict",
    "linewidth_summary",
    "lowest_phonon",
    "lowest_phonon_from_file",
    "mobile_position_sums",
    "mobile_positions",
    "msd",
    "msd_from_file",
    "needed_cell_length",
    "neutron_weights",
    "non_gaussian",
    "orientations",
    "rotation_hop_correlation",
    "rotation_summary",
    "rotational_acf",
    "self_intermediate_scattering",
    "self_intermediate_scattering_from_file",
    "sites_from_density",
    "sites_from_structure",
    "two_phase",
    "vacf",
    "van_hove_self",
    "vdos_from_chunks",
    "vdos_from_file",
    "vdos_summary",
    "vibrational_entropy",
    "window_crossings",
    "window_geometry",
    "zero_frequency_verdict",
]
