// Parley widget placeholder: the full widget replaces this file.
