"""vertrouwd: an intake assistant for the confidential adviser (vertrouwenspersoon)."""
