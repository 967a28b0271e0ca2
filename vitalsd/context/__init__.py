"""Who and where: patient/room associations, the sources that set them, the stale guard."""
