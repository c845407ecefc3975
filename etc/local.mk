# example configs and units
