"""Lists sent to PostgreSQL as the text of an array.

psycopg2 turns a Python list into ARRAY['...'::timestamp, ...]: every element is adapted
one by one and parsed by the server as an expression. For the thousand-element lists of a
usage batch that costs more than the statement that uses them; the array's input text
(``{"a","b",NULL}``), cast by the query (``%s::timestamp[]``), is built and read at once.
"""


def array_text(values):
    """The PostgreSQL array input text of ``values``: each element quoted (None is NULL),
    datetimes as 'YYYY-MM-DD HH:MM:SS[.ffffff]' (naive, in UTC, as Odoo keeps them: an
    offset would be ignored by ``::timestamp``), numbers as Python writes them."""
    return '{' + ','.join('NULL' if value is None else _quoted(value) for value in values) + '}'


def _quoted(value):
    text = value if isinstance(value, str) else str(value)
    return '"' + text.replace('\\', '\\\\').replace('"', '\\"') + '"'
