-- Rows that do not come back as plain rows (@A@ is replaced by the test's database name).
USE @A@;
-- Every column generated: no column to name in an INSERT, yet the table holds rows.
CREATE TABLE all_gen (a INT AS (1) VIRTUAL, b VARCHAR(10) AS ('x') STORED);
INSERT INTO all_gen () VALUES (), (), ();
CREATE TABLE all_gen_invisible (a INT AS (7) VIRTUAL, b INT AS (a + 1) STORED INVISIBLE) ENGINE=MyISAM;
INSERT INTO all_gen_invisible () VALUES (), ();
CREATE TABLE all_gen_empty (a INT AS (1) VIRTUAL);
-- Invisible columns, plain and generated, with an invisible AUTO_INCREMENT key.
CREATE TABLE inv (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY INVISIBLE, v VARCHAR(10),
  secret VARCHAR(10) INVISIBLE DEFAULT 'hidden', g INT AS (id * 2) VIRTUAL INVISIBLE,
  s INT AS (LENGTH(v)) STORED INVISIBLE);
INSERT INTO inv (v) VALUES ('a'), ('bb'), (NULL);
INSERT INTO inv (v, secret) VALUES ('ccc', 'shown');
INSERT INTO inv (id, v) VALUES (50, 'fifty');
-- Transaction-precise history: row start and end are transaction ids, which no INSERT can set.
CREATE TABLE trx_hist (id INT PRIMARY KEY, v INT,
  row_start BIGINT UNSIGNED AS ROW START INVISIBLE, row_end BIGINT UNSIGNED AS ROW END INVISIBLE,
  PERIOD FOR SYSTEM_TIME(row_start, row_end)) ENGINE=InnoDB WITH SYSTEM VERSIONING;
INSERT INTO trx_hist (id, v) VALUES (1, 10), (2, 20), (3, 30);
UPDATE trx_hist SET v = v + 1 WHERE id = 2;
DELETE FROM trx_hist WHERE id = 3;
CREATE TABLE trx_visible (id INT PRIMARY KEY, note VARCHAR(10), g INT AS (id + 1) VIRTUAL,
  rs BIGINT UNSIGNED AS ROW START, re BIGINT UNSIGNED AS ROW END,
  PERIOD FOR SYSTEM_TIME(rs, re)) ENGINE=InnoDB WITH SYSTEM VERSIONING;
INSERT INTO trx_visible (id, note) VALUES (1, 'x'), (2, 'y');
UPDATE trx_visible SET note = 'z' WHERE id = 1;
-- Timestamp history with generated and invisible columns beside it.
CREATE TABLE ts_hist (id INT PRIMARY KEY, v INT, h INT INVISIBLE DEFAULT 3, g INT AS (v * 10) STORED)
  WITH SYSTEM VERSIONING;
INSERT INTO ts_hist (id, v) VALUES (1, 1), (2, 2);
UPDATE ts_hist SET v = 5 WHERE id = 1;
DELETE FROM ts_hist WHERE id = 2;
