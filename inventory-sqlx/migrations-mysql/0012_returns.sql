-- What was returned of each reservation.
ALTER TABLE reservations ADD COLUMN `returns` LONGTEXT NOT NULL DEFAULT '[]';
