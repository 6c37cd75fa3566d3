"""The ions that carry the current in solid electrolytes: the species taken as mobile when none is named."""

#: in order of preference: a structure's mobile species is the first of these it holds
MOBILE_IONS = ("Li", "Na", "K", "Ag", "Cu", "H", "Mg", "Zn")
