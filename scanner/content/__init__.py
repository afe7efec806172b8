"""Document text extraction (pdf, docx, xlsx, pptx, csv, text), bounded and provider-free: bytes in,
text chunks or a typed skip reason out."""
