"""The top layer: the operator CLI (`fraudctl`) and its tasks. It may import every other layer."""
