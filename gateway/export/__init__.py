"""Research exports: selected studies of one consortium, de-identified, to a folder or S3."""
