/** The moto server fixture lives with local mode, which starts it too. */
export { startMotoServer, type MotoServer } from '../../local/moto';
