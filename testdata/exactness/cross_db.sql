-- Dependencies across databases (@A@, @B@, @C@ are replaced by the test's database names).
-- Each database reads the others: sequences in column defaults, views over the other's
-- tables and views, functions called by views of another database, in both directions, so
-- no order of the databases by name (or any other whole-database order) can create them.
CREATE SEQUENCE @B@.s_b START WITH 100 INCREMENT BY 5;
CREATE SEQUENCE @A@.s_a START WITH 1000;
CREATE SEQUENCE @C@.s_c CYCLE MAXVALUE 10;
USE @B@;
CREATE TABLE t_b (id INT NOT NULL DEFAULT NEXTVAL(@A@.s_a) PRIMARY KEY, note VARCHAR(20));
CREATE FUNCTION f_b(x INT) RETURNS INT DETERMINISTIC RETURN x * 2;

USE @A@;
CREATE TABLE t_a (id INT NOT NULL DEFAULT NEXTVAL(@B@.s_b) PRIMARY KEY, v INT);
CREATE TABLE t_c (id BIGINT NOT NULL DEFAULT (NEXTVAL(@C@.s_c) + 1), b_id INT) ;
CREATE FUNCTION f_a(x INT) RETURNS INT DETERMINISTIC RETURN x + 1;

USE @C@;
CREATE TABLE t_c (id INT PRIMARY KEY, ref INT DEFAULT NEXTVAL(@C@.s_c));

-- Foreign keys into the other database, both ways.
CREATE TABLE @C@.fk_c (id INT PRIMARY KEY, b_id INT, FOREIGN KEY (b_id) REFERENCES @B@.t_b (id));
CREATE TABLE @B@.fk_b (id INT PRIMARY KEY, c_id INT, FOREIGN KEY (c_id) REFERENCES @C@.fk_c (id) ON DELETE CASCADE);

INSERT INTO @B@.t_b (note) VALUES ('one'), ('two'), ('three');
INSERT INTO @C@.fk_c VALUES (1, 1000), (2, 1002);
INSERT INTO @B@.fk_b VALUES (10, 1), (20, 2);
INSERT INTO @A@.t_a (v) VALUES (1), (2), (3), (4);
INSERT INTO @A@.t_c (b_id) VALUES (1), (2);
INSERT INTO @C@.t_c (id) VALUES (1), (2), (3);

-- Views that read each other's database: a cycle between databases, not between views.
USE @A@;
CREATE VIEW v_a AS SELECT b.id, b.note, @B@.f_b(b.id) AS twice FROM @B@.t_b b;
CREATE VIEW v_a_base AS SELECT id, v, f_a(v) AS next_v FROM t_a;
USE @B@;
CREATE VIEW v_b AS SELECT a.id, a.v, @A@.f_a(a.v) AS plus FROM @A@.t_a a;
-- A view over a view of the other database, which itself reads this one.
CREATE VIEW v_b_over AS SELECT id, next_v FROM @A@.v_a_base WHERE next_v > 1;
USE @A@;
CREATE VIEW v_a_over AS SELECT o.id, o.next_v, v.plus FROM @B@.v_b_over o JOIN @B@.v_b v USING (id);
USE @C@;
CREATE VIEW v_c AS SELECT x.id, x.twice, y.plus FROM @A@.v_a x JOIN @B@.v_b y ON y.id = x.id - 999;
-- A trigger that writes into another database (bodies are not checked at creation).
DELIMITER ;;
CREATE TRIGGER c_ins AFTER INSERT ON t_c FOR EACH ROW BEGIN INSERT INTO @B@.t_b (note) VALUES ('from c'); END;;
DELIMITER ;
