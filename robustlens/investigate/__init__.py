"""Investigation after the first evaluation: operating envelope, failure slices, compound chains."""
