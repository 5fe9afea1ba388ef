-- Customer returns recorded on their shipped reservation, as JSON (oldest first): what
-- a return may still bring back is what the order shipped less what these hold.
ALTER TABLE reservations ADD COLUMN returns TEXT NOT NULL DEFAULT '[]';
