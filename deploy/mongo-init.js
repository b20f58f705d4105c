// Runs once, when the mongo container starts on an empty volume: the image
// runs /docker-entrypoint-initdb.d/*.js with mongosh as the root user of
// MONGO_INITDB_ROOT_USERNAME. It creates the user the crowdjuke nodes log in
// as: readWrite on the crowdjuke database and nothing else (no other
// database, no user or server administration).
//
// To change the password later: `docker compose exec mongo mongosh -u root
// -p` then `db.getSiblingDB('crowdjuke').changeUserPassword('crowdjuke',
// '<new>')`, set MONGO_APP_PASSWORD in .env to it and recreate the nodes.
const password = process.env.MONGO_APP_PASSWORD;
if (!password) {
  throw new Error('MONGO_APP_PASSWORD is not set: the crowdjuke user was not created');
}
db.getSiblingDB('crowdjuke').createUser({
  user: 'crowdjuke',
  pwd: password,
  roles: [{ role: 'readWrite', db: 'crowdjuke' }],
});
