"""Code the lessons share: plots, widgets and reference implementations that several notebooks
use. Lessons import it (``from backprop_lab import plots``); it is installed by the set-up."""
