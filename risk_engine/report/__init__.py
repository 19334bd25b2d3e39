"""HTML and XLSX report rendering."""
