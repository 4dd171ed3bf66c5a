"""What earlier runs and this run have seen: state stores, canonical keys, near-duplicates."""
