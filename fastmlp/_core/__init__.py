"""The compiled core: per-element kernels, the network's forward and backward
passes, the optimizer updates and the epoch loop."""
