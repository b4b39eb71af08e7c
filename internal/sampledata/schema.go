package sampledata

// preamble sets up the session the way the rest of the output expects it.
const preamble = `/*!40101 SET NAMES utf8mb4 */;
SET time_zone = '+00:00';
SET sql_mode = 'STRICT_TRANS_TABLES,ERROR_FOR_DIVISION_BY_ZERO,NO_AUTO_CREATE_USER,NO_ENGINE_SUBSTITUTION';
SET foreign_key_checks = 0, unique_checks = 0, autocommit = 0;
`

// schema creates the tables, parents first.
const schema = `ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;

CREATE TABLE categories (
  id SMALLINT UNSIGNED NOT NULL,
  parent_id SMALLINT UNSIGNED DEFAULT NULL,
  name VARCHAR(80) NOT NULL,
  slug VARCHAR(80) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  description TEXT DEFAULT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_categories_slug (slug),
  KEY idx_categories_parent (parent_id),
  CONSTRAINT fk_categories_parent FOREIGN KEY (parent_id) REFERENCES categories (id) ON DELETE SET NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='Product categories, a tree';

CREATE TABLE stores (
  id SMALLINT UNSIGNED NOT NULL,
  name VARCHAR(100) NOT NULL,
  city VARCHAR(60) NOT NULL,
  country_code CHAR(2) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  location POINT NOT NULL,
  opened_on DATE NOT NULL,
  kind ENUM('store','warehouse','pickup') NOT NULL DEFAULT 'store',
  PRIMARY KEY (id),
  SPATIAL KEY sp_stores_location (location)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE customers (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  email VARCHAR(190) NOT NULL,
  first_name VARCHAR(60) NOT NULL,
  last_name VARCHAR(60) NOT NULL,
  phone VARCHAR(30) DEFAULT NULL,
  birth_date DATE DEFAULT NULL,
  status ENUM('active','suspended','closed') NOT NULL DEFAULT 'active',
  marketing SET('email','sms','post','push') NOT NULL DEFAULT '',
  loyalty_points INT NOT NULL DEFAULT 0,
  preferences JSON DEFAULT NULL,
  notes TEXT NOT NULL,
  created_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_customers_email (email),
  KEY idx_customers_name (last_name, first_name),
  CONSTRAINT chk_customers_points CHECK (loyalty_points >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE addresses (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  customer_id INT UNSIGNED NOT NULL,
  kind ENUM('billing','shipping','both') NOT NULL,
  line1 VARCHAR(120) NOT NULL,
  line2 VARCHAR(120) DEFAULT NULL,
  city VARCHAR(60) NOT NULL,
  postal_code VARCHAR(12) NOT NULL,
  country_code CHAR(2) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  location POINT NOT NULL,
  PRIMARY KEY (id),
  KEY idx_addresses_customer (customer_id),
  SPATIAL KEY sp_addresses_location (location),
  CONSTRAINT fk_addresses_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE products (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  sku CHAR(12) CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
  category_id SMALLINT UNSIGNED NOT NULL,
  name VARCHAR(200) NOT NULL,
  description TEXT NOT NULL,
  price DECIMAL(10,2) NOT NULL,
  weight_kg DECIMAL(7,3) DEFAULT NULL,
  tags SET('new','sale','eco','bestseller','limited','refurbished') NOT NULL DEFAULT '',
  attributes JSON NOT NULL,
  popularity DOUBLE NOT NULL DEFAULT 0,
  is_active TINYINT(1) NOT NULL DEFAULT 1,
  created_at DATETIME(6) NOT NULL,
  updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6),
  PRIMARY KEY (id),
  UNIQUE KEY uk_products_sku (sku),
  KEY idx_products_category (category_id, price),
  FULLTEXT KEY ft_products_text (name, description),
  CONSTRAINT fk_products_category FOREIGN KEY (category_id) REFERENCES categories (id),
  CONSTRAINT chk_products_price CHECK (price >= 0)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE product_images (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  product_id INT UNSIGNED NOT NULL,
  position TINYINT UNSIGNED NOT NULL,
  mime ENUM('image/png','image/jpeg','image/webp') NOT NULL,
  alt_text VARCHAR(200) NOT NULL DEFAULT '',
  data MEDIUMBLOB NOT NULL,
  sha1 BINARY(20) NOT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_product_images_pos (product_id, position),
  CONSTRAINT fk_product_images_product FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE stock (
  store_id SMALLINT UNSIGNED NOT NULL,
  product_id INT UNSIGNED NOT NULL,
  quantity INT NOT NULL,
  reorder_at SMALLINT UNSIGNED DEFAULT NULL,
  counted_at DATETIME(6) NOT NULL,
  PRIMARY KEY (store_id, product_id),
  KEY idx_stock_product (product_id),
  CONSTRAINT fk_stock_store FOREIGN KEY (store_id) REFERENCES stores (id),
  CONSTRAINT fk_stock_product FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE price_changes (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  product_id INT UNSIGNED NOT NULL,
  old_price DECIMAL(10,2) NOT NULL,
  new_price DECIMAL(10,2) NOT NULL,
  changed_at DATETIME(6) NOT NULL,
  PRIMARY KEY (id),
  KEY idx_price_changes_product (product_id, changed_at),
  CONSTRAINT fk_price_changes_product FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE coupons (
  code VARCHAR(20) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL,
  kind ENUM('percent','amount','shipping') NOT NULL,
  value DECIMAL(8,2) NOT NULL,
  valid_from DATE NOT NULL,
  valid_until DATE DEFAULT NULL,
  uses_left INT DEFAULT NULL,
  PRIMARY KEY (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE orders (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  customer_id INT UNSIGNED NOT NULL,
  shipping_address_id INT UNSIGNED DEFAULT NULL,
  pickup_store_id SMALLINT UNSIGNED DEFAULT NULL,
  status ENUM('pending','paid','shipped','delivered','cancelled','refunded') NOT NULL DEFAULT 'pending',
  placed_at DATETIME(6) NOT NULL,
  shipped_at DATETIME(6) DEFAULT NULL,
  currency CHAR(3) CHARACTER SET ascii COLLATE ascii_general_ci NOT NULL DEFAULT 'EUR',
  coupon_code VARCHAR(20) CHARACTER SET ascii COLLATE ascii_general_ci DEFAULT NULL,
  subtotal DECIMAL(12,2) NOT NULL,
  shipping DECIMAL(8,2) NOT NULL DEFAULT 0.00,
  tax DECIMAL(10,2) NOT NULL,
  total DECIMAL(12,2) NOT NULL,
  note VARCHAR(500) NOT NULL DEFAULT '',
  PRIMARY KEY (id),
  KEY idx_orders_customer (customer_id, placed_at),
  KEY idx_orders_status (status, placed_at),
  CONSTRAINT fk_orders_customer FOREIGN KEY (customer_id) REFERENCES customers (id),
  CONSTRAINT fk_orders_address FOREIGN KEY (shipping_address_id) REFERENCES addresses (id) ON DELETE SET NULL,
  CONSTRAINT fk_orders_store FOREIGN KEY (pickup_store_id) REFERENCES stores (id),
  CONSTRAINT fk_orders_coupon FOREIGN KEY (coupon_code) REFERENCES coupons (code) ON UPDATE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE order_items (
  order_id INT UNSIGNED NOT NULL,
  line_no TINYINT UNSIGNED NOT NULL,
  product_id INT UNSIGNED NOT NULL,
  quantity SMALLINT UNSIGNED NOT NULL,
  unit_price DECIMAL(10,2) NOT NULL,
  discount_pct TINYINT NOT NULL DEFAULT 0,
  line_total DECIMAL(12,2) NOT NULL,
  PRIMARY KEY (order_id, line_no),
  KEY idx_order_items_product (product_id),
  CONSTRAINT fk_order_items_order FOREIGN KEY (order_id) REFERENCES orders (id) ON DELETE CASCADE,
  CONSTRAINT fk_order_items_product FOREIGN KEY (product_id) REFERENCES products (id),
  CONSTRAINT chk_order_items_quantity CHECK (quantity > 0),
  CONSTRAINT chk_order_items_discount CHECK (discount_pct BETWEEN 0 AND 100)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE payments (
  id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  order_id INT UNSIGNED NOT NULL,
  invoice_no INT UNSIGNED DEFAULT NULL,
  method ENUM('card','paypal','bank_transfer','gift_card','cash') NOT NULL,
  amount DECIMAL(12,2) NOT NULL,
  paid_at DATETIME(6) NOT NULL,
  provider_ref VARCHAR(64) CHARACTER SET ascii COLLATE ascii_bin DEFAULT NULL,
  details JSON DEFAULT NULL,
  PRIMARY KEY (id),
  UNIQUE KEY uk_payments_invoice (invoice_no),
  KEY idx_payments_order (order_id),
  CONSTRAINT fk_payments_order FOREIGN KEY (order_id) REFERENCES orders (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE reviews (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT,
  product_id INT UNSIGNED NOT NULL,
  customer_id INT UNSIGNED DEFAULT NULL,
  rating TINYINT UNSIGNED NOT NULL,
  title VARCHAR(200) NOT NULL DEFAULT '',
  body TEXT DEFAULT NULL,
  created_at DATETIME(6) NOT NULL,
  helpful_votes INT UNSIGNED NOT NULL DEFAULT 0,
  PRIMARY KEY (id),
  KEY idx_reviews_product (product_id, rating),
  KEY idx_reviews_customer (customer_id),
  FULLTEXT KEY ft_reviews_text (title, body),
  CONSTRAINT fk_reviews_product FOREIGN KEY (product_id) REFERENCES products (id) ON DELETE CASCADE,
  CONSTRAINT fk_reviews_customer FOREIGN KEY (customer_id) REFERENCES customers (id) ON DELETE SET NULL,
  CONSTRAINT chk_reviews_rating CHECK (rating BETWEEN 1 AND 5)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE SEQUENCE invoice_numbers START WITH 100001 INCREMENT BY 1 CACHE 100;

`

// objects creates what reads the tables: functions first, since views and triggers call them.
const objects = `
DELIMITER ;;
CREATE FUNCTION loyalty_tier(points INT) RETURNS VARCHAR(10) CHARSET utf8mb4
  DETERMINISTIC NO SQL
  COMMENT 'The loyalty tier for a points balance'
RETURN CASE
  WHEN points >= 5000 THEN 'platinum'
  WHEN points >= 2000 THEN 'gold'
  WHEN points >= 500 THEN 'silver'
  ELSE 'bronze'
END;;

CREATE FUNCTION order_subtotal(p_order INT UNSIGNED) RETURNS DECIMAL(12,2)
  READS SQL DATA
BEGIN
  DECLARE v DECIMAL(12,2);
  SELECT COALESCE(SUM(line_total), 0) INTO v FROM order_items WHERE order_id = p_order;
  RETURN v;
END;;

CREATE PROCEDURE place_order(IN p_customer INT UNSIGNED, IN p_product INT UNSIGNED,
                             IN p_quantity SMALLINT UNSIGNED, OUT p_order INT UNSIGNED)
  MODIFIES SQL DATA
  COMMENT 'Orders one product for a customer, at its current price'
BEGIN
  DECLARE v_sub DECIMAL(12,2);
  START TRANSACTION;
  INSERT INTO orders (customer_id, status, placed_at, subtotal, tax, total)
    VALUES (p_customer, 'pending', NOW(6), 0, 0, 0);
  SET p_order = LAST_INSERT_ID();
  INSERT INTO order_items (order_id, line_no, product_id, quantity, unit_price, line_total)
    VALUES (p_order, 1, p_product, p_quantity, NULL, 0);
  SET v_sub = order_subtotal(p_order);
  UPDATE orders SET subtotal = v_sub, tax = ROUND(v_sub * 0.19, 2), total = v_sub + ROUND(v_sub * 0.19, 2)
    WHERE id = p_order;
  COMMIT;
END;;

CREATE PROCEDURE top_products(IN p_limit INT)
  READS SQL DATA
SELECT p.id, p.sku, p.name, SUM(oi.quantity) AS sold
  FROM products p JOIN order_items oi ON oi.product_id = p.id
  GROUP BY p.id, p.sku, p.name
  ORDER BY sold DESC, p.id
  LIMIT p_limit;;

CREATE TRIGGER order_items_price BEFORE INSERT ON order_items FOR EACH ROW
BEGIN
  IF NEW.unit_price IS NULL THEN
    SET NEW.unit_price = (SELECT price FROM products WHERE id = NEW.product_id);
  END IF;
  SET NEW.line_total = ROUND(NEW.quantity * NEW.unit_price * (100 - NEW.discount_pct) / 100, 2);
END;;

CREATE TRIGGER products_price_audit AFTER UPDATE ON products FOR EACH ROW
BEGIN
  IF NEW.price <> OLD.price THEN
    INSERT INTO price_changes (product_id, old_price, new_price, changed_at)
      VALUES (NEW.id, OLD.price, NEW.price, NOW(6));
  END IF;
END;;

CREATE TRIGGER reviews_tidy BEFORE INSERT ON reviews FOR EACH ROW
  SET NEW.title = TRIM(NEW.title);;

CREATE TRIGGER stock_not_negative BEFORE UPDATE ON stock FOR EACH ROW
  SET NEW.quantity = GREATEST(NEW.quantity, 0);;

CREATE EVENT cancel_stale_orders
  ON SCHEDULE EVERY 1 HOUR STARTS '2035-01-01 00:00:00'
  ON COMPLETION PRESERVE DISABLE
  COMMENT 'Cancels orders left pending for a week'
DO UPDATE orders SET status = 'cancelled'
  WHERE status = 'pending' AND placed_at < NOW(6) - INTERVAL 7 DAY;;

CREATE EVENT purge_price_changes
  ON SCHEDULE EVERY 1 DAY STARTS '2035-01-01 03:30:00'
  ON COMPLETION PRESERVE ENABLE
DO DELETE FROM price_changes WHERE changed_at < NOW(6) - INTERVAL 5 YEAR;;
DELIMITER ;

CREATE VIEW customer_summary AS
SELECT c.id, c.email, CONCAT(c.first_name, ' ', c.last_name) AS full_name, loyalty_tier(c.loyalty_points) AS tier,
       COUNT(o.id) AS orders, COALESCE(SUM(o.total), 0) AS spent, MAX(o.placed_at) AS last_order
  FROM customers c LEFT JOIN orders o ON o.customer_id = c.id
 GROUP BY c.id, c.email, c.first_name, c.last_name, c.loyalty_points;

CREATE VIEW top_customers AS
SELECT id, email, full_name, tier, spent FROM customer_summary WHERE spent > 0 ORDER BY spent DESC LIMIT 100;

CREATE VIEW product_ratings AS
SELECT p.id, p.sku, p.name, COUNT(r.id) AS reviews, ROUND(AVG(r.rating), 2) AS rating
  FROM products p LEFT JOIN reviews r ON r.product_id = p.id
 GROUP BY p.id, p.sku, p.name;

CREATE SQL SECURITY INVOKER VIEW open_orders AS
SELECT id, customer_id, status, placed_at, total FROM orders WHERE status IN ('pending', 'paid')
WITH CHECK OPTION;

CREATE VIEW store_stock AS
SELECT s.name AS store, s.city, p.sku, p.name AS product, st.quantity
  FROM stock st JOIN stores s ON s.id = st.store_id JOIN products p ON p.id = st.product_id;
`

// postamble puts the session back.
const postamble = `SET foreign_key_checks = 1, unique_checks = 1;
COMMIT;
`
