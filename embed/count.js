// Parley count script placeholder: the full script replaces this file.
