-- Multi-byte character sets in table definitions and rows (@A@ is replaced by the test's
-- database name). The file is UTF-8, read under utf8mb4; bytes that UTF-8 cannot name are
-- written as hex literals.
USE @A@;
-- cp932 encodes some characters twice (the NEC and IBM extensions): 0x8790 and 0x81E0 are both
-- U+2252 (≒), 0xED40 and 0xFA5C both U+7E8A (纊). SHOW CREATE TABLE prints both alike.
CREATE TABLE cp_dup (id INT PRIMARY KEY,
  e ENUM(0x8790, 0x81E0, 0xED40, 0xFA5C, 0x955C) CHARACTER SET cp932 DEFAULT 0xED40,
  s SET(0x81E0, 0x8790, 0x835C) CHARACTER SET cp932,
  c VARCHAR(10) CHARACTER SET cp932 DEFAULT 0x8790 COMMENT '≒ 表 ソ',
  plain ENUM('表', 'ソ', '能', '') CHARACTER SET cp932 DEFAULT 'ソ',
  d CHAR(4) DEFAULT 0xFA5C) DEFAULT CHARSET=cp932 COMMENT='能ソ表\\';
INSERT INTO cp_dup (id, e, s, c, plain) VALUES (1, 1, 1, 0x8790, 1), (2, 2, 2, 0x81E0, 2),
  (3, 3, 3, 0xED40, 3), (4, 4, 4, 0xFA5C, 4), (5, 5, 7, 0x955C5C, 1), (6, 0x8790, 0x8790, '表', '能');
INSERT INTO cp_dup (id) VALUES (7);
-- eucjpms has the same two encodings of the NEC characters: 0xADF0 and 0xA2E2 are both ≒.
CREATE TABLE eucjpms_dup (id INT PRIMARY KEY,
  e ENUM(0xADF0, 0xA2E2) CHARACTER SET eucjpms DEFAULT 0xADF0,
  s SET(0xA2E2, 0xADF0) CHARACTER SET eucjpms DEFAULT 0xADF0);
INSERT INTO eucjpms_dup VALUES (1, 1, 1), (2, 2, 3);
-- big5 codes the server takes as characters but maps to U+FFFD: printed alike.
CREATE TABLE big5_unmapped (id INT PRIMARY KEY,
  e ENUM(0xA1C3, 0xA1C5, '功') CHARACTER SET big5 DEFAULT 0xA1C5);
INSERT INTO big5_unmapped VALUES (1, 1), (2, 2), (3, 3);

-- 0x5C (the backslash) as the second byte of a character: sjis 表 = 0x955C, ソ = 0x835C,
-- 能 = 0x945C; gbk 乗 = 0x815C, 俓 = 0x825C; big5 功 = 0xA55C, 許 = 0xB35C, 蓋 = 0xBB5C. In
-- names, comments, defaults, CHECK constraints, generated columns and rows, next to quotes
-- and backslashes.
CREATE TABLE `表ソ能` (`能` INT PRIMARY KEY, `ソ` VARCHAR(20) DEFAULT '表''ソ\\' COMMENT '十表\'',
  `表` ENUM('表', 'ソ', '能\\', '''十') DEFAULT '能\\', `十` TEXT,
  g VARCHAR(30) AS (CONCAT(`ソ`, '表')) VIRTUAL,
  CONSTRAINT `表_chk` CHECK (`ソ` <> '能\\' AND `表` <> '十'),
  KEY `表_idx` (`ソ`) COMMENT 'ソ能') DEFAULT CHARSET=sjis COMMENT='ソ能\\';
INSERT INTO `表ソ能` (`能`, `ソ`, `表`, `十`) VALUES (1, 'ソ\\', '表', '能''表'), (2, '表表', 4, 0x955C955C);
INSERT INTO `表ソ能` (`能`) VALUES (3);
CREATE TABLE `乗俓` (`俓` INT PRIMARY KEY, `乗` VARCHAR(20) DEFAULT '乗''俓' COMMENT '俓乗',
  e ENUM('乗', '俓', '乗\\') DEFAULT '俓', s SET('俓', '乗') DEFAULT '俓,乗',
  CONSTRAINT `乗_chk` CHECK (`乗` NOT LIKE '%俓\\%')) DEFAULT CHARSET=gbk COMMENT='乗\'俓';
INSERT INTO `乗俓` VALUES (1, '乗俓', '乗\\', '乗'), (2, 0x815C5C27, 1, 3);
INSERT INTO `乗俓` (`俓`) VALUES (3);
CREATE TABLE `功許` (id INT PRIMARY KEY, `蓋` VARCHAR(20) DEFAULT '功''許' COMMENT '許功\\',
  e ENUM('功', '許', '蓋') DEFAULT '蓋' COMMENT '蓋',
  CONSTRAINT `功_chk` CHECK (`蓋` <> '許蓋')) DEFAULT CHARSET=big5 COMMENT='蓋許功';
INSERT INTO `功許` VALUES (1, '功許蓋', '許'), (2, 0xA55C27B35C, 1);
INSERT INTO `功許` (id) VALUES (3);
-- A cp932 table with a column of another character set beside its own.
CREATE TABLE cp_mixed (id INT PRIMARY KEY, a VARCHAR(10) DEFAULT '表',
  u VARCHAR(10) CHARACTER SET utf8mb4 DEFAULT '≒😀' COMMENT '😀',
  e ENUM(0x8790, 0x81E0) DEFAULT 0x81E0) DEFAULT CHARSET=cp932;
INSERT INTO cp_mixed VALUES (1, 0xFA5C, '表', 1), (2, '能', '😀', 2);
-- Expressions keep the text the server printed for them, whatever it made of a cp932 literal.
CREATE TABLE cp_expr (id INT PRIMARY KEY, c VARCHAR(10) CHARACTER SET cp932,
  g VARCHAR(20) CHARACTER SET cp932 AS (CONCAT(c, _cp932 0x8790, '表')) VIRTUAL,
  CONSTRAINT cp_k1 CHECK (c <> _cp932 0xED40), CONSTRAINT cp_k2 CHECK (c <> CONVERT(0xED40 USING cp932))) DEFAULT CHARSET=cp932;
INSERT INTO cp_expr (id, c) VALUES (1, 0x8790), (2, 0x955C);
