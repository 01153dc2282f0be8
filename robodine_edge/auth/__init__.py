"""Who may do what: passwords, tokens, staff accounts and kiosk credentials."""
