"""The group's rules: campaigns and pledges, tallies, text hygiene, passwords. Pure: no I/O, no clock."""
