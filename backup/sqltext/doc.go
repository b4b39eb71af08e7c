// Package sqltext is the SQL text of a dump: writing it and reading it back.
//
// Writing: QuoteIdent and QuoteString quote names and strings; KindOf maps a column's data type
// to a ValueKind, and AppendValue writes a value read through the text protocol as a literal of
// that kind; CommentSafe keeps names in comments harmless; HexInvalidLiterals rewrites string
// literals that are not valid UTF-8 as hex.
//
// Reading: a Splitter cuts a stream of SQL into Statements as the stock client would (quotes,
// comments, DELIMITER commands), with each statement's offset in the stream, without holding
// more than one statement in memory.
package sqltext
