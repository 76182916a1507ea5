DROP TABLE throttle_attempts;
