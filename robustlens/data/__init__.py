"""Image sources: class folders, flat folders, manifests and the bundled demo sets."""
