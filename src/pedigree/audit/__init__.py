"""The tamper-evident record: a hash chain over every write Pedigree makes."""
