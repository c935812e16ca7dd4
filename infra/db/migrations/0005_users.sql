-- Admins and client viewers. Passwords are stdlib scrypt hashes, never plain text.
CREATE TABLE users (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    email TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CONSTRAINT users_role_check CHECK (role IN ('admin', 'client')),
    client_id UUID REFERENCES clients(id) ON DELETE CASCADE,
    last_login_at TIMESTAMP WITH TIME ZONE,
    created_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    updated_at TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
    -- A client viewer always belongs to one client; an admin to none.
    CONSTRAINT users_client_role_check CHECK ((role = 'client') = (client_id IS NOT NULL))
);
CREATE UNIQUE INDEX idx_users_email ON users(lower(email));
CREATE INDEX idx_users_client_id ON users(client_id);
