-- Adversarial data set for backup round trips (internal/dbtest.LoadAdversarial).
-- Every object here is something a logical dump has been known to get wrong.
-- Loaded with the stock client into an empty database chosen by the caller:
--   mariadb --no-defaults --default-character-set=utf8mb4 DB < adversarial.sql
-- It never names its database, so it can be loaded under any name, in parallel.
-- All clocks are pinned (SET timestamp) so two loads give identical databases,
-- history rows included. Needs MariaDB 10.11 or later (UUID, INET6, SEQUENCE engine).

SET NAMES utf8mb4;
SET time_zone = '+00:00';
SET timestamp = 1600000000.123456;
SET sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';
SET foreign_key_checks = 0;

-- The database default differs from the server's (latin1): the dump must recreate it.
ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_520_ci;

-- ---------------------------------------------------------------- numbers
CREATE TABLE num_float (
  id INT PRIMARY KEY,
  f FLOAT,
  d DOUBLE,
  note VARCHAR(60)
) ENGINE=InnoDB;
-- The text protocol prints FLOAT with 6 significant digits: 16777216 reads back as 16777200.
INSERT INTO num_float VALUES
  (1, 1.17549435e-38, 2.2250738585072014e-308, 'smallest normal'),
  (2, 3.4028234e38, 1.7976931348623157e308, 'largest'),
  (3, 0.1, 0.1, '0.1 is not exact in binary'),
  (4, 16777216, 9007199254740993, '2^24 and 2^53+1'),
  (5, 1.4e-45, 4.9406564584124654e-324, 'smallest subnormal'),
  (6, 0.3, 0.30000000000000004, 'shortest round trip needs 17 digits'),
  (7, -123456.789, -1.2345678901234567e-200, 'negative'),
  (8, 0, 0, 'zero'),
  (9, NULL, NULL, 'NULL'),
  (10, 3.1415927, 3.141592653589793, 'pi');

CREATE TABLE num_exact (
  id INT PRIMARY KEY,
  dec65 DECIMAL(65,30),
  dec_small DECIMAL(5,2) UNSIGNED,
  u64 BIGINT UNSIGNED,
  i64 BIGINT,
  i8 TINYINT,
  u24 MEDIUMINT UNSIGNED ZEROFILL,
  b1 BIT(1),
  b5 BIT(5),
  b64 BIT(64),
  bool_col BOOLEAN
) ENGINE=InnoDB;
INSERT INTO num_exact VALUES
  (1, 99999999999999999999999999999999999.999999999999999999999999999999, 999.99, 18446744073709551615, 9223372036854775807, 127, 16777215, b'1', b'11111', b'1111111111111111111111111111111111111111111111111111111111111111', TRUE),
  (2, -99999999999999999999999999999999999.999999999999999999999999999999, 0.00, 0, -9223372036854775808, -128, 0, b'0', b'00000', b'0', FALSE),
  (3, 0.000000000000000000000000000001, 0.01, 9223372036854775808, -1, 0, 42, b'0', b'10101', b'1000000000000000000000000000000000000000000000000000000000000001', NULL),
  (4, -0.000000000000000000000000000001, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);

-- ---------------------------------------------------------------- time
CREATE TABLE temporal (
  id INT PRIMARY KEY,
  d DATE,
  dt DATETIME(6),
  ts TIMESTAMP(6) NULL DEFAULT NULL,
  t TIME(6),
  y YEAR,
  dt0 DATETIME
) ENGINE=InnoDB;
SET sql_mode = '';
-- Zero dates and dates with a zero month or day are legal outside strict mode.
INSERT INTO temporal VALUES
  (1, '0000-00-00', '0000-00-00 00:00:00.000000', '1970-01-01 00:00:01.000000', '-838:59:59.000000', 0, '0000-00-00 00:00:00'),
  (2, '2020-00-00', '2020-00-15 12:00:00.500000', '2038-01-19 03:14:07.999999', '838:59:59.000000', 1901, '2020-02-00 00:00:00'),
  (3, '9999-12-31', '9999-12-31 23:59:59.999999', '2003-10-25 22:00:00.000001', '-00:00:00.000001', 2155, '1000-01-01 00:00:00'),
  (4, '1000-01-01', '1000-01-01 00:00:00.000001', '2003-10-25 23:00:00.000001', '100:00:00.123456', 2000, NULL),
  (5, NULL, NULL, NULL, NULL, NULL, NULL);
SET sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

-- ---------------------------------------------------------------- new types
CREATE TABLE modern_types (
  id INT PRIMARY KEY,
  u UUID,
  ip INET6,
  j JSON,
  e ENUM('', 'a', 'b''c', 'd e'),
  s SET('x', 'y', 'z')
) ENGINE=InnoDB;
INSERT INTO modern_types VALUES
  (1, '00000000-0000-0000-0000-000000000000', '::', '{}', '', ''),
  (2, 'ffffffff-ffff-ffff-ffff-ffffffffffff', '::ffff:1.2.3.4', '{"b": 1, "a": [1.0000000000000000001, 1e400, null, "\\u00e9\\n"], "emoji": "\\ud83d\\ude00"}', 'b''c', 'x,z'),
  (3, '6ccd780c-baba-1026-9564-5b8c656024db', 'fe80::1:2:3:4', '[ 1 , 2 ]', 'd e', 'x,y,z'),
  (4, NULL, NULL, NULL, NULL, NULL);
-- ENUM index 0 (the error value) prints as '' just like the member '' (index 1).
SET sql_mode = '';
INSERT INTO modern_types (id, e) VALUES (5, 'not a member');
SET sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';

CREATE TABLE geo (
  id INT PRIMARY KEY,
  g GEOMETRY REF_SYSTEM_ID=4326 NOT NULL,
  p POINT REF_SYSTEM_ID=4326,
  any_g GEOMETRY,
  SPATIAL KEY (g)
) ENGINE=InnoDB;
INSERT INTO geo VALUES
  (1, ST_GeomFromText('POINT(0.1 -179.99999999999997)', 4326), ST_GeomFromText('POINT(1e-300 1e300)', 4326), NULL),
  (2, ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0),(2 2,4 2,4 4,2 2))', 4326), NULL, ST_GeomFromText('MULTIPOINT(1 1, 2 2)')),
  (3, ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 2),LINESTRING(0 0,1 1,2 0.3333333333333333))', 4326), ST_GeomFromText('POINT(0 0)', 4326), ST_GeomFromText('GEOMETRYCOLLECTION EMPTY'));

-- ---------------------------------------------------------------- strings and bytes
CREATE TABLE strings (
  id INT PRIMARY KEY,
  v VARCHAR(300),
  c CHAR(10),
  t TEXT,
  note VARCHAR(40)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
INSERT INTO strings VALUES
  (1, NULL, NULL, NULL, 'SQL NULL'),
  (2, '', '', '', 'empty string'),
  (3, 'NULL', 'NULL', 'NULL', 'the word NULL'),
  (4, 'it''s "quoted" `back` \\ slash', 'a''b', '\\N', 'quotes and backslashes'),
  (5, 'line1\nline2\r\nline3\ttab', 'x\ny', 'nul:\0:ctrl-z:\Z:', 'control characters'),
  (6, 'a; DROP TABLE strings; --', ';', 'DELIMITER ;;\nSELECT 1;;\nDELIMITER ;', 'statement separators'),
  (7, '*/ /*! SELECT 1 */ /*M!100000 x */', '-- ', '\\! touch dbtest_pwned\n\\! touch dbtest_pwned', 'comments and client commands'),
  (8, 'emoji 😀 🏳️‍🌈 é ß Ω 中文', '😀😀😀😀😀😀😀😀😀😀', 'ｆｕｌｌ', 'utf8mb4'),
  (9, 'trailing spaces   ', 'c   ', 'tab\t ', 'trailing blanks'),
  (10, REPEAT('\\', 300), '\\\\', REPEAT('''', 1000), 'long escapes');

CREATE TABLE charsets (
  id INT PRIMARY KEY,
  l1 VARCHAR(50) CHARACTER SET latin1 COLLATE latin1_german1_ci,
  bin VARBINARY(300),
  fixed BINARY(8),
  u16 VARCHAR(20) CHARACTER SET utf16,
  k VARCHAR(20) CHARACTER SET koi8r,
  bl BLOB,
  tx TEXT CHARACTER SET binary
) ENGINE=InnoDB DEFAULT CHARSET=latin1;
INSERT INTO charsets VALUES
  (1, 'Müller ÿ ©', X'000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9FA0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBFC0C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0D1D2D3D4D5D6D7D8D9DADBDCDDDEDFE0E1E2E3E4E5E6E7E8E9EAEBECEDEEEFF0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF', X'00', '😀 utf16', _koi8r X'C1C2C3C4C5', X'000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F202122232425262728292A2B2C2D2E2F303132333435363738393A3B3C3D3E3F404142434445464748494A4B4C4D4E4F505152535455565758595A5B5C5D5E5F606162636465666768696A6B6C6D6E6F707172737475767778797A7B7C7D7E7F808182838485868788898A8B8C8D8E8F909192939495969798999A9B9C9D9E9FA0A1A2A3A4A5A6A7A8A9AAABACADAEAFB0B1B2B3B4B5B6B7B8B9BABBBCBDBEBFC0C1C2C3C4C5C6C7C8C9CACBCCCDCECFD0D1D2D3D4D5D6D7D8D9DADBDCDDDEDFE0E1E2E3E4E5E6E7E8E9EAEBECEDEEEFF0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF', X'FF00FEF0'),
  (2, '', '', X'6100000000000000', '', '', '', ''),
  (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  (4, 'a  ', X'6120200000', X'2020202020202020', ' ', ' ', X'00', X'0A0D1A5C27225C30');
INSERT INTO charsets (id, bin, bl) SELECT 5, REVERSE(bin), REVERSE(bl) FROM charsets WHERE id = 1;

-- ---------------------------------------------------------------- columns
CREATE TABLE computed (
  id INT PRIMARY KEY,
  a INT NOT NULL,
  b VARCHAR(20) NOT NULL DEFAULT 'it''s a "default"',
  v_sum INT AS (a * 2) VIRTUAL,
  s_txt VARCHAR(40) AS (CONCAT(b, ':', a)) STORED,
  hidden INT INVISIBLE DEFAULT 7,
  `hidden ``odd"name` VARCHAR(10) INVISIBLE,
  KEY (v_sum),
  CONSTRAINT a_positive CHECK (a >= 0),
  CHECK (CHAR_LENGTH(b) < 20)
) ENGINE=InnoDB COMMENT='table comment with ''quotes'' and\na newline';
INSERT INTO computed (id, a) VALUES (1, 1), (2, 2);
INSERT INTO computed (id, a, b, hidden, `hidden ``odd"name`) VALUES (3, 3, '', 99, 'seen');

CREATE TABLE autoinc_gap (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  v VARCHAR(10)
) ENGINE=InnoDB AUTO_INCREMENT=1000;
INSERT INTO autoinc_gap (v) VALUES ('a'), ('b'), ('c');
INSERT INTO autoinc_gap VALUES (5000, 'gap');
DELETE FROM autoinc_gap WHERE id = 5000;
-- The next id must be 5001 after a restore, not 1003.

-- ---------------------------------------------------------------- keys and order
-- a_child sorts before z_parent: creating tables alphabetically with checks on fails.
CREATE TABLE a_child (
  id INT PRIMARY KEY,
  parent_id INT NOT NULL,
  CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES z_parent (id) ON DELETE CASCADE
) ENGINE=InnoDB;
CREATE TABLE z_parent (
  id INT PRIMARY KEY,
  name VARCHAR(20)
) ENGINE=InnoDB;
INSERT INTO a_child VALUES (1, 10), (2, 10), (3, 20);
INSERT INTO z_parent VALUES (10, 'ten'), (20, 'twenty');

-- A cycle through a self-reference: no row order loads with foreign_key_checks on.
CREATE TABLE employee_tree (
  id INT PRIMARY KEY,
  manager_id INT NULL,
  name VARCHAR(20),
  CONSTRAINT fk_manager FOREIGN KEY (manager_id) REFERENCES employee_tree (id)
) ENGINE=InnoDB;
INSERT INTO employee_tree VALUES (1, 2, 'reports to 2'), (2, 1, 'reports to 1'), (3, NULL, 'root');

CREATE TABLE no_pk (a INT, b VARCHAR(10)) ENGINE=InnoDB;
INSERT INTO no_pk VALUES (1, 'dup'), (1, 'dup'), (1, 'dup'), (NULL, NULL), (2, '');

CREATE TABLE empty_table (id INT PRIMARY KEY, v TEXT) ENGINE=InnoDB;

-- ---------------------------------------------------------------- volume
-- 100,000 rows: the dump has to split INSERTs.
CREATE TABLE big (
  id INT PRIMARY KEY,
  s VARCHAR(64),
  f DOUBLE,
  flt FLOAT,
  b VARBINARY(16),
  d DATETIME(3)
) ENGINE=InnoDB;
INSERT INTO big
  SELECT seq, CONCAT('row ''', seq, '''\n', REPEAT('x', seq MOD 37)), seq / 7e0, seq / 3e0,
         UNHEX(LPAD(HEX(seq * 2654435761 MOD 4294967296), 8, '0')),
         TIMESTAMP'2020-01-01 00:00:00' + INTERVAL seq SECOND + INTERVAL (seq MOD 1000) * 1000 MICROSECOND
  FROM seq_1_to_100000;

-- One value over 1 MiB and one row of several: statement-size splitting.
CREATE TABLE huge_values (
  id INT PRIMARY KEY,
  t LONGTEXT,
  b LONGBLOB
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO huge_values VALUES
  (1, REPEAT('é😀''\\\n', 200000), NULL),
  (2, NULL, REPEAT(X'00FF27225C0A0D1A', 300000)),
  (3, REPEAT('a', 1048577), REPEAT(X'5C', 1048577));

-- ---------------------------------------------------------------- engines
CREATE TABLE engine_myisam (id INT PRIMARY KEY, v VARCHAR(20), FULLTEXT KEY ft (v)) ENGINE=MyISAM;
INSERT INTO engine_myisam VALUES (1, 'non transactional'), (2, 'myisam');
CREATE TABLE engine_aria (id INT PRIMARY KEY, v VARCHAR(20)) ENGINE=Aria TRANSACTIONAL=1 PAGE_CHECKSUM=1;
INSERT INTO engine_aria VALUES (1, 'aria'), (2, NULL);

CREATE TABLE fulltext_docs (
  id INT PRIMARY KEY,
  body TEXT,
  FULLTEXT KEY ft_body (body)
) ENGINE=InnoDB;
INSERT INTO fulltext_docs VALUES (1, 'the quick brown fox'), (2, 'jumps over the lazy dog');

CREATE TABLE partitioned (
  id INT NOT NULL,
  created DATE NOT NULL,
  v VARCHAR(20),
  PRIMARY KEY (id, created)
) ENGINE=InnoDB
PARTITION BY RANGE (YEAR(created)) (
  PARTITION p2019 VALUES LESS THAN (2020),
  PARTITION p2020 VALUES LESS THAN (2021) COMMENT 'year ''20',
  PARTITION pmax VALUES LESS THAN MAXVALUE
);
INSERT INTO partitioned VALUES (1, '2019-06-01', 'a'), (2, '2020-06-01', 'b'), (3, '2030-01-01', 'c');

CREATE TABLE partitioned_hash (id INT PRIMARY KEY, v INT) ENGINE=InnoDB PARTITION BY HASH (id) PARTITIONS 4;
INSERT INTO partitioned_hash SELECT seq, seq * seq FROM seq_1_to_100;

-- ---------------------------------------------------------------- history
CREATE TABLE versioned (
  id INT PRIMARY KEY,
  v VARCHAR(20)
) ENGINE=InnoDB WITH SYSTEM VERSIONING;
SET timestamp = 1600000100.000001;
INSERT INTO versioned VALUES (1, 'one'), (2, 'two'), (3, 'three');
SET timestamp = 1600000200.250000;
UPDATE versioned SET v = 'one v2' WHERE id = 1;
SET timestamp = 1600000300.500000;
UPDATE versioned SET v = 'one v3' WHERE id = 1;
DELETE FROM versioned WHERE id = 2;
SET timestamp = 1600000400.999999;
UPDATE versioned SET v = NULL WHERE id = 3;

-- Explicit, invisible row_start/row_end and an application-time period.
CREATE TABLE versioned_explicit (
  id INT NOT NULL,
  price DECIMAL(10,2),
  valid_from DATE NOT NULL,
  valid_to DATE NOT NULL,
  rs TIMESTAMP(6) GENERATED ALWAYS AS ROW START INVISIBLE,
  re TIMESTAMP(6) GENERATED ALWAYS AS ROW END INVISIBLE,
  PERIOD FOR SYSTEM_TIME (rs, re),
  PERIOD FOR valid_period (valid_from, valid_to),
  PRIMARY KEY (id, valid_to)
) ENGINE=InnoDB WITH SYSTEM VERSIONING;
SET timestamp = 1600000500.000000;
INSERT INTO versioned_explicit (id, price, valid_from, valid_to) VALUES (1, 9.99, '2020-01-01', '2021-01-01');
SET timestamp = 1600000600.000000;
UPDATE versioned_explicit FOR PORTION OF valid_period FROM '2020-06-01' TO '2020-09-01' SET price = 4.99 WHERE id = 1;
SET timestamp = 1600000700.000000;
DELETE FROM versioned_explicit FOR PORTION OF valid_period FROM '2020-11-01' TO '2021-01-01' WHERE id = 1;
SET timestamp = 1600000000.123456;

-- ---------------------------------------------------------------- sequences
CREATE SEQUENCE seq_cached START WITH 100 INCREMENT BY 7 MINVALUE 100 MAXVALUE 1000000 CACHE 20;
SELECT NEXTVAL(seq_cached), NEXTVAL(seq_cached), NEXTVAL(seq_cached);
CREATE SEQUENCE seq_cycle START WITH 1 INCREMENT BY 1 MINVALUE 1 MAXVALUE 5 NOCACHE CYCLE;
CREATE TABLE seq_user (
  id INT NOT NULL DEFAULT NEXTVAL(seq_cycle),
  v VARCHAR(10)
) ENGINE=InnoDB;
INSERT INTO seq_user (v) VALUES ('a'), ('b'), ('c'), ('d'), ('e'), ('f'), ('g');
-- seq_cycle has now wrapped once: cycle_count = 1, next value 3.

-- ---------------------------------------------------------------- routines
DELIMITER ;;
SET sql_mode = 'PIPES_AS_CONCAT,ANSI_QUOTES'
;;
-- Under the default sql_mode || is OR and "x" is a string: the meaning changes.
CREATE FUNCTION f_concat(a VARCHAR(20), b VARCHAR(20)) RETURNS VARCHAR(40) DETERMINISTIC
  COMMENT 'needs PIPES_AS_CONCAT'
  RETURN a || '+' || b
;;
CREATE PROCEDURE "p_ansi"(IN n INT, OUT total BIGINT)
  SQL SECURITY INVOKER
BEGIN
  DECLARE s BIGINT DEFAULT 0;
  SELECT SUM("id") INTO s FROM "big" WHERE "id" <= n;
  SET total = s;
END
;;
SET sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'
;;
CREATE FUNCTION `f_uses_delimiter;;`() RETURNS TEXT CHARSET utf8mb4 DETERMINISTIC
BEGIN
  RETURN 'DELIMITER ;; -- ''';
END
;;
DELIMITER ;

-- ---------------------------------------------------------------- triggers
-- trig_target rows are doubled on insert and copied to trig_log: a dump that
-- creates these triggers before loading the data doubles the values twice
-- and the log grows.
CREATE TABLE trig_target (id INT PRIMARY KEY, v INT, label VARCHAR(40)) ENGINE=InnoDB;
CREATE TABLE trig_log (n INT AUTO_INCREMENT PRIMARY KEY, target_id INT, label VARCHAR(40)) ENGINE=InnoDB;
SET sql_mode = 'PIPES_AS_CONCAT';
CREATE TRIGGER trg_double BEFORE INSERT ON trig_target FOR EACH ROW
  SET NEW.v = NEW.v * 2, NEW.label = NEW.label || '!';
SET sql_mode = 'ANSI_QUOTES';
CREATE TRIGGER trg_log AFTER INSERT ON trig_target FOR EACH ROW
  INSERT INTO "trig_log" ("target_id", "label") VALUES (NEW.id, NEW.label);
SET sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';
CREATE TRIGGER trg_log_first AFTER INSERT ON trig_target FOR EACH ROW PRECEDES trg_log
  SET @dbtest_last_insert = NEW.id;
INSERT INTO trig_target VALUES (1, 10, 'one'), (2, 20, 'two'), (3, 30, NULL);
-- Expected: trig_target.v = 20, 40, 60; trig_log has exactly 3 rows.

-- ---------------------------------------------------------------- views
-- a_view depends on m_view which depends on z_base: alphabetical creation fails.
CREATE TABLE z_base (id INT PRIMARY KEY, qty INT, price DECIMAL(10,2)) ENGINE=InnoDB;
INSERT INTO z_base VALUES (1, 3, 50), (2, 5, 51.5);
CREATE VIEW m_view AS SELECT id, qty, price, qty * price AS total FROM z_base;
CREATE ALGORITHM=TEMPTABLE SQL SECURITY INVOKER VIEW a_view AS SELECT id, total FROM m_view WHERE total > 100;
CREATE VIEW v_checked AS SELECT * FROM z_base WHERE qty > 0 WITH CASCADED CHECK OPTION;
-- A view that calls a stored function: routines must exist first.
CREATE VIEW v_uses_function AS SELECT id, f_concat(CAST(id AS CHAR), CAST(qty AS CHAR)) AS both_ FROM z_base;
SET NAMES latin1;
CREATE VIEW v_latin1_client AS SELECT 'abc' AS s, id FROM z_base;
SET NAMES utf8mb4;

-- ---------------------------------------------------------------- events
SET sql_mode = 'PIPES_AS_CONCAT';
CREATE EVENT ev_disabled ON SCHEDULE EVERY 1 DAY STARTS '2030-01-01 00:00:00' ENDS '2031-01-01 00:00:00'
  ON COMPLETION PRESERVE DISABLE COMMENT 'never runs'
  DO INSERT INTO trig_log (target_id, label) VALUES (-1, 'ev' || 'ent');
SET sql_mode = 'STRICT_ALL_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION';
CREATE EVENT `event
one` ON SCHEDULE AT '2030-01-01 00:00:00' ON COMPLETION PRESERVE DISABLE DO SET @a = 5;

-- ---------------------------------------------------------------- names
-- Nothing in a name may make the client run a shell command (\! is the
-- client's shell escape; a newline in a name ends a dump's "--" comment).
CREATE TABLE `\! touch dbtest_pwned` (id INT PRIMARY KEY) ENGINE=InnoDB;
INSERT INTO `\! touch dbtest_pwned` VALUES (1);
CREATE TABLE `name
\! touch dbtest_pwned` (id INT PRIMARY KEY) ENGINE=InnoDB;
INSERT INTO `name
\! touch dbtest_pwned` VALUES (2);
CREATE TABLE `tick``quote"apos'back\slash sp ç€` (
  `col``tick` INT,
  `col"dq` INT,
  `col'sq` INT,
  `col\bs` INT,
  `col
nl` INT,
  `a  b c & $!@#$%^&*( )` INT,
  `ËÏÌÏÎËÁ1` INT
) ENGINE=InnoDB;
INSERT INTO `tick``quote"apos'back\slash sp ç€` VALUES (1, 2, 3, 4, 5, 6, 7);
CREATE VIEW `view
one` AS SELECT * FROM `tick``quote"apos'back\slash sp ç€`;
CREATE PROCEDURE `proc
one`() SELECT * FROM `name
\! touch dbtest_pwned`;
CREATE TRIGGER `trig
one` BEFORE INSERT ON `name
\! touch dbtest_pwned` FOR EACH ROW SET NEW.id = NEW.id;
CREATE TABLE `a'b` (`"` INT) ENGINE=InnoDB;
INSERT INTO `a'b` VALUES (1);
CREATE TABLE `*/;--` (`/*` INT) ENGINE=InnoDB;
INSERT INTO `*/;--` VALUES (1);

SET foreign_key_checks = 1;
SET timestamp = DEFAULT;
