"""A large labelled detection corpus, generated reproducibly (seeded) in memory.

``build(split, ...)`` returns labelled documents in five formats (TXT/CSV, DOCX, XLSX, PDF, PPTX)
written with the real writers (python-docx, openpyxl, python-pptx, fpdf2). Five splits:

* ``tuning``    - what detection is tuned on;
* ``heldback``  - v1: other seeds AND generator variety reserved for it (name locales, header and
  label vocabularies, line layouts, sentence templates, secret names). Scored and its misses read
  once, so it is tuning data now; kept and reported;
* ``heldback2`` - v2: a seed never used before and variety only it draws (``pools.reserve``),
  scored once when tuning was done; its misses were read, so it is tuning data now;
* ``heldback3`` - v3: seed 4404 and variety only it draws (``reserve(..., v3=[...])``), scored
  once when the next round's tuning was done; its misses were read, so it is tuning data now;
* ``heldback4`` - v4: seed 5505 and variety only it draws (``reserve(..., v4=[...])``: secret
  names, credential forms and layouts), scored once when the third round's tuning was done.

Every document carries its categories (contractor_pii, client_confidential, credentials,
financial, government_id); none = not sensitive. ``python -m tests.data.synth.score`` runs the
pipeline on both splits and prints precision/recall per format and per category.
"""
